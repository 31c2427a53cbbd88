#!/bin/sh
# Register the unpacked FaceEditor folder with the desktop (menu entry, icon, .fep file association) for
# this user, or system-wide with --system (as root). Run from anywhere: paths are taken from this script's
# folder. --uninstall removes what it added.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
bindir="$HOME/.local/bin"
action=install
for arg in "$@"; do
  case "$arg" in
    --system) prefix=/usr/local/share; bindir=/usr/local/bin ;;
    --uninstall) action=uninstall ;;
    *) echo "usage: $0 [--system] [--uninstall]" >&2; exit 2 ;;
  esac
done
if [ "$action" = uninstall ]; then
  rm -f "$prefix/applications/faceeditor.desktop" "$prefix/metainfo/faceeditor.metainfo.xml" \
        "$prefix/mime/packages/faceeditor-mime.xml" "$bindir/faceeditor" "$bindir/faceeditor-cli"
  find "$prefix/icons/hicolor" -name 'faceeditor.*' -delete 2>/dev/null || true
else
  mkdir -p "$prefix/applications" "$prefix/metainfo" "$prefix/mime/packages" "$bindir"
  cp -r "$here/share/icons" "$prefix/"
  cp "$here/share/metainfo/faceeditor.metainfo.xml" "$prefix/metainfo/"
  cp "$here/share/mime/packages/faceeditor-mime.xml" "$prefix/mime/packages/"
  # Exec/TryExec name the executables by absolute path, so the menu entry works without PATH changes.
  sed -e "s|^Exec=faceeditor|Exec=$here/faceeditor|" -e "s|^TryExec=faceeditor|TryExec=$here/faceeditor|" \
      "$here/share/applications/faceeditor.desktop" > "$prefix/applications/faceeditor.desktop"
  ln -sf "$here/faceeditor" "$bindir/faceeditor"
  ln -sf "$here/faceeditor-cli" "$bindir/faceeditor-cli"
fi
command -v update-mime-database >/dev/null && update-mime-database "$prefix/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/icons/hicolor" || true
echo "FaceEditor: ${action}ed under $prefix (launchers in $bindir)"
