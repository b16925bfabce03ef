// Placeholder; replaced by the target's first real source file.
