// Compiles the precompiled LibTorch header once; see tutorial_use_precompiled_torch().
