// Anchor for the precompiled Catch2 header shared by every test.
