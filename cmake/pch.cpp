// Anchor translation unit for the shared precompiled Torch header.
