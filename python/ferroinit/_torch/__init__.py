"""The torch side of ferroinit (private): seeding from torch generators, writing torch tensors
the way torch's in-place methods do, the deferred fills, and the TorchFunctionMode that routes
unchanged torch init code to ferroinit. The public API is :mod:`ferroinit.torch`."""
