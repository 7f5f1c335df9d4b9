"""Trains every member of a model folder further on today's data: `npm run models:continue` per domain.

    /usr/bin/python3 models/gpt/continue.py --domain order [--model-dir models/order]
        [--config models/continue.config.json] [--set steps=1000 --set lr=0.0002] [--out-dir DIR]

A folder holds one GPT, or an ensemble of several of one shape (export.py --member), all in its
weights.pt. Each member is trained further from its own weights (train.py `--init WEIGHTS --member
N`, one after the other, same settings) into OUT_DIR/model.pt (the first; OUT_DIR defaults to
WORK/DOMAIN/checkpoints, where export.py looks) and OUT_DIR/member-N.pt. OUT_DIR/members.json names
the other members and the SHA-256 of the first, so export.py, given that model.pt, exports the
ensemble again; a later run that replaces model.pt (models:train) leaves a members.json that no
longer matches, and export.py then exports model.pt alone.
"""
import argparse, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402
from lineage import sha256  # noqa: E402

MEMBERS_FILE = 'members.json'


def member_count(model_dir):
    """How many GPTs the folder's config.json says it holds (1 without `ensemble`)."""
    with open(os.path.join(model_dir, 'config.json')) as f:
        config = json.load(f)
    return max(1, len((config.get('ensemble') or {}).get('members') or []))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--work', default='models/.work')
    p.add_argument('--domain', required=True)
    p.add_argument('--model-dir', help='the folder to continue (default models/DOMAIN)')
    p.add_argument('--config', default='models/continue.config.json')
    p.add_argument('--set', action='append', default=[], help='override a config key: key=value')
    p.add_argument('--out-dir', help='where the checkpoints go (default WORK/DOMAIN/checkpoints)')
    args = p.parse_args(argv)
    model_dir = args.model_dir or os.path.join('models', args.domain)
    out_dir = args.out_dir or os.path.join(args.work, args.domain, 'checkpoints')
    os.makedirs(out_dir, exist_ok=True)
    weights = os.path.join(model_dir, 'weights.pt')
    sets = [flag for item in args.set for flag in ('--set', item)]
    outs = []
    for member in range(1, member_count(model_dir) + 1):
        out = os.path.join(out_dir, 'model.pt' if member == 1 else f'member-{member}.pt')
        train.main(['--work', args.work, '--domain', args.domain, '--config', args.config, *sets,
                    '--init', weights, '--member', str(member), '--out', out])
        outs.append(out)
    with open(os.path.join(out_dir, MEMBERS_FILE), 'w') as f:
        json.dump({'first': {'checkpoint': 'model.pt', 'sha256': sha256(outs[0])},
                   'members': [os.path.basename(o) for o in outs[1:]]}, f, indent=2)
    print(json.dumps({'continued': outs, 'from': weights}), flush=True)


if __name__ == '__main__':
    main()
