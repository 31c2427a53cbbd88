"""The dock panels: views bound to the session model (faceeditor.core.session); they never import a
controller."""
