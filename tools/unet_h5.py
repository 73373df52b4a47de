"""dpsolve's HDF5 weights format for guided-diffusion UNets (docs/models.md), shared by the tools.

A group (the weights file's /prior, or an input file's /prior) with
  attributes: type = "unet", format_version = 1, and the architecture (ARCH_ATTRIBUTES below);
  datasets:   one float32 dataset per parameter, named exactly as in the PyTorch state dict
              (e.g. "input_blocks.1.0.in_layers.0.weight"), with the state dict's shape.
"""

import json

import numpy as np

FORMAT_VERSION = 1

# name -> meaning; attention_ds are downsampling factors (image_size // pixels), as UNetModel takes them
ARCH_ATTRIBUTES = ("image_size", "in_channels", "model_channels", "out_channels", "num_res_blocks",
                   "channel_mult", "attention_ds", "num_heads", "num_head_channels", "num_heads_upsample",
                   "use_scale_shift_norm", "resblock_updown", "conv_resample", "use_new_attention_order")


def load_config(name_or_path):
    """A named configuration of tools/unet.py CONFIGS, or a JSON file in the same form."""
    import unet
    if name_or_path in unet.CONFIGS:
        return dict(unet.CONFIGS[name_or_path])
    if name_or_path.endswith(".json"):
        with open(name_or_path) as f:
            return json.load(f)
    raise SystemExit(f"unknown --config {name_or_path!r}: one of {', '.join(unet.CONFIGS)} or a .json file")


def write_group(group, config, state_dict, compress=False):
    """Write the architecture attributes of `config` (unet.CONFIGS form) and every tensor of state_dict as
    float32; compress: shuffle + deflate for tensors of 1024 entries or more (the small ones stay contiguous:
    a chunk index costs more than it saves)."""
    import unet
    c = dict(config)
    if c.get("use_new_attention_order"):
        raise SystemExit("use_new_attention_order=True: dpsolve implements the legacy QKV ordering of the "
                         "released checkpoints only")
    a = group.attrs
    a["type"] = np.bytes_("unet")  # fixed-length ASCII: HDF5 1.10's C library will not convert h5py's UTF-8 strings
    a["format_version"] = np.int32(FORMAT_VERSION)
    for key in ("image_size", "in_channels", "model_channels", "out_channels", "num_res_blocks", "num_heads",
                "num_head_channels", "num_heads_upsample"):
        a[key] = np.int32(c[key])
    for key in ("use_scale_shift_norm", "resblock_updown", "conv_resample", "use_new_attention_order"):
        a[key] = np.int32(1 if c.get(key, key == "conv_resample") else 0)
    a["channel_mult"] = np.asarray(c["channel_mult"], dtype=np.float64)
    a["attention_ds"] = np.asarray(unet.attention_ds(c["image_size"], c["attention_resolutions"]), dtype=np.int32)
    for name, tensor in state_dict.items():
        data = tensor.detach().cpu().numpy().astype(np.float32)
        options = dict(chunks=data.shape, shuffle=True, compression="gzip", compression_opts=9) \
            if compress and data.size >= 1024 else {}
        group.create_dataset(name, data=data, **options)


def read_group(group):
    """(attributes, {name: array}) of a weights group."""
    attrs = {k: group.attrs[k] for k in group.attrs}
    return attrs, {name: group[name][()] for name in group}
