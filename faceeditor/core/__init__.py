"""Qt-free model of a document: image, mask layer, landmarks, edits, timelines, projects."""
