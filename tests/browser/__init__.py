"""Real-browser tests of the built book (headless Chromium over the DevTools Protocol)."""
