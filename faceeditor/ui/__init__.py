"""Qt views: the main window, the controllers, the widgets bound to the session, the canvas, workers."""
