"""Averages the weights of task checkpoints that share one shape (a uniform "model soup",
Wortsman et al. 2022): typically a shipped model and a run continued from it (`train.py --init`).
Runs fine-tuned from the same weights stay in one basin of the loss, so their average is one model
that answers like the two together, at the cost of one.

    python3 models/gpt/soup.py models/loan/weights.pt models/.work/runs/loan-c2.pt --out models/.work/loan-soup.pt
    python3 models/gpt/export.py --domain loan --checkpoint models/.work/loan-soup.pt

The result keeps the last checkpoint's training config, history and lineage (what the model card
prints; for a shipped folder's weights.pt, the record in the config.json beside it) and adds
`soup`: each ingredient's file name, SHA-256, version (for a shipped folder) and weight.
`--weights 0.3,0.7` weighs them unevenly (default: equal).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lineage import pretraining_record, sha256, training_record  # noqa: E402


def ingredient(path, weight):
    info = {'checkpoint': os.path.basename(path), 'sha256': sha256(path), 'weight': weight}
    config_file = os.path.join(os.path.dirname(os.path.abspath(path)), 'config.json')
    if os.path.exists(config_file):
        with open(config_file) as f:
            info['version'] = json.load(f).get('version')
    return info


def soup(checkpoints, weights):
    first = checkpoints[0]
    for other in checkpoints[1:]:
        if other['model_config'] != first['model_config']:
            raise SystemExit(f"checkpoints differ in shape: {first['model_config']} vs {other['model_config']}")
        if other['state_dict'].keys() != first['state_dict'].keys():
            raise SystemExit('checkpoints differ in their parameters')
    state = {}
    for name, tensor in first['state_dict'].items():
        if tensor.is_floating_point():
            mixed = sum(w * c['state_dict'][name].double() for c, w in zip(checkpoints, weights))
            state[name] = mixed.to(tensor.dtype)
        else:
            state[name] = checkpoints[-1]['state_dict'][name]
    return state


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoints', nargs='+')
    p.add_argument('--out', required=True)
    p.add_argument('--weights', help='comma-separated, one per checkpoint; normalized to sum 1')
    args = p.parse_args()
    if len(args.checkpoints) < 2:
        raise SystemExit('a soup needs at least two checkpoints')
    weights = [float(w) for w in args.weights.split(',')] if args.weights else [1.0] * len(args.checkpoints)
    if len(weights) != len(args.checkpoints) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise SystemExit('--weights needs one non-negative number per checkpoint, not all zero')
    weights = [w / sum(weights) for w in weights]
    loaded = [torch.load(path, map_location='cpu') for path in args.checkpoints]
    out = dict(loaded[-1])
    out['state_dict'] = soup(loaded, weights)
    out['soup'] = [ingredient(path, w) for path, w in zip(args.checkpoints, weights)]
    if not out.get('train_config') and not out.get('training'):
        # The last ingredient is a shipped folder's weights.pt: its run is in the config.json beside it.
        out['pretraining'] = pretraining_record(loaded[-1], args.checkpoints[-1])
        out['training'] = training_record(loaded[-1], args.checkpoints[-1])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    print(json.dumps({'soup': out['soup'], 'out': args.out}))


if __name__ == '__main__':
    main()
