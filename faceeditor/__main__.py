from faceeditor.app import main
import sys
sys.exit(main())
