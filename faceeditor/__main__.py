import sys

from faceeditor.app import main

sys.exit(main())
