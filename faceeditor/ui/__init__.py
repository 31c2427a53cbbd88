"""Qt views: main window, canvas, panels, workers, dialogs."""
