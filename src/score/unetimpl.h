/* The PETSc side of the UNet score: loading a network from dpsolve's HDF5 weights format (docs/models.md). */
#ifndef DPSOLVE_UNETIMPL_H
#define DPSOLVE_UNETIMPL_H
#include <petscsys.h>
#include <hdf5.h>
#include "score/unet/unet.h"

/* The network stored in group `group` (e.g. "/prior") of an open file (fname for messages): architecture from
   the group's attributes, every parameter checked by name and shape; a missing, unexpected or mis-shaped
   parameter is an error that names it. */
PETSC_EXTERN PetscErrorCode DpsUnetLoadH5(hid_t file, const char fname[], const char group[], DpsUnet **net);
#endif
