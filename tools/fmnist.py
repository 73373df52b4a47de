"""Fashion-MNIST as dpsolve's image tools use it: Debian's dataset-fashion-mnist, padded to 32x32, in [-1, 1].
The loader lives in the dpstools package (tools/dpstools/sources.py); this module keeps its old name."""

from dpstools.sources import FMNIST_DIR, load_fmnist as load_images  # noqa: F401
