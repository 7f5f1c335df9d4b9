"""Prints PyTorch's logits and final hidden state at the scoring position for encoded cases, as
JSON, so tests can check that the ONNX model in Node computes the same numbers.

    /usr/bin/python3 models/gpt/logits.py --checkpoint PATH --ids FILE.ids.json [--limit N]
"""
import argparse, json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_gpt, set_threads  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--ids', required=True)
    p.add_argument('--limit', type=int, default=16)
    args = p.parse_args()
    set_threads(1)
    checkpoint = torch.load(args.checkpoint)
    model = load_gpt(checkpoint)
    model.eval()
    with open(args.ids) as f:
        rows = json.load(f)[:args.limit]
    out = []
    with torch.no_grad():
        for r in rows:  # one at a time: no padding, the plainest reference
            ids = torch.tensor([r['ids']])
            logits, hidden = model.last(ids, torch.ones_like(ids))
            out.append({'ids': r['ids'], 'logits': logits[0].tolist(), 'hidden': hidden[0].tolist()})
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
