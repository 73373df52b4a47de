"""dpstools: the inputs of dpsolve (docs/formats.md) from images and arrays, for every operator of methods.md
section 8. Run with tools/ on the Python path:

    PYTHONPATH=tools /usr/bin/python3 -m dpstools.make blur --kernel motion --images 8 --out in.h5

Modules: writer (the one writer of the input format, a function per operator), sources (Fashion-MNIST, a folder
of PNG/JPEG images, an .npy array), kernels (the protocol's Gaussian and motion-blur kernels, the box geometry),
medical (MRI k-space masks and coil maps, BART's maps, CT angle sets), cop (the C operator through dpsolve: y simulated exactly as `dpsolve run -seed K` does, and A x), make (the
command line), baselines (an input as the benchmark reads it, and the classical baselines per operator), report
(PSNR/SSIM per task and method and one grid: scripts/demo-tasks.sh), metrics (PSNR, SSIM, LPIPS, FID over
outputs). Needs Debian's python3-numpy, python3-h5py and python3-scipy; python3-pil for image folders and grids,
python3-skimage for the baselines (scripts/setup.sh installs them all).
"""
