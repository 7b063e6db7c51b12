"""``translate inspect``: identify a weight file and check that it loads."""

from __future__ import annotations

import argparse

from ..errors import import_extra


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="identify a weight file (official .pth or .safetensors) and check it loads",
        description="Without --arch: list the registered architectures whose layout matches the "
        "file. With --arch and options: load it strictly, as export and training would.",
        formatter_class=formatter_class,
    )
    p.add_argument("weights", help="a .pth state dict (loaded with weights_only) or .safetensors")
    p.add_argument("--arch", help="generator or discriminator name (resnet_9blocks, basic, ...)")
    p.add_argument("--norm", choices=["batch", "instance", "none"])
    p.add_argument("--ngf", type=int)
    p.add_argument("--ndf", type=int)
    p.add_argument("--n-layers", type=int)
    p.add_argument("--input-nc", type=int)
    p.add_argument("--output-nc", type=int)
    p.add_argument("--dropout", action=argparse.BooleanOptionalAction, default=None)


def run(args: argparse.Namespace) -> int:
    weights = import_extra("translate.gan.weights", "train", "translate inspect")
    from ..gan.nets import count_parameters

    sd = weights.load_state_dict_file(args.weights)
    if args.arch:
        net = weights.load_reference_weights(
            args.weights,
            args.arch,
            input_nc=args.input_nc,
            output_nc=args.output_nc,
            ngf=args.ngf,
            ndf=args.ndf,
            n_layers=args.n_layers,
            norm=args.norm,
            dropout=args.dropout,
        )
        print(f"{args.weights}: loads strictly into {weights.describe_config(net.config)}")
        print(f"parameters: {count_parameters(net):,}")
        return 0
    fits = weights.suggest_architectures(sd)
    tensors = sum(v.numel() for v in sd.values())
    print(f"{args.weights}: {len(sd)} tensors, {tensors:,} values")
    if not fits:
        print("no registered architecture matches these keys and shapes")
        return 1
    for cfg in fits:
        n = count_parameters(weights.build(cfg, init=None))
        print(f"matches: {weights.describe_config(cfg)}  ({n:,} parameters)")
    return 0
