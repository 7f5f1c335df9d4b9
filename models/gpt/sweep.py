"""Hyperparameter sweep: trains one short run per grid point (each on top of the base config) and
records the results in a Markdown table.

    /usr/bin/python3 models/gpt/sweep.py --domain order [--steps 400] \
        [--grid '{"lr": [0.001, 0.002, 0.004], "nLayer": [2, 4]}'] [--out models/SWEEP.md]
"""
import argparse, itertools, json, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--work', default='models/.work')
    p.add_argument('--domain', required=True)
    p.add_argument('--config', default='models/train.config.json')
    p.add_argument('--steps', type=int, default=400)
    p.add_argument('--grid', default='{"lr": [0.001, 0.002, 0.004], "nLayer": [2, 4]}')
    p.add_argument('--out', default='models/SWEEP.md')
    args = p.parse_args()
    grid = json.loads(args.grid)
    keys = list(grid)
    rows = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values))
        with tempfile.TemporaryDirectory() as tmp:
            metrics_file = os.path.join(tmp, 'metrics.json')
            cmd = [sys.executable, os.path.join(HERE, 'train.py'), '--work', args.work, '--domain', args.domain, '--config', args.config,
                   '--set', f'steps={args.steps}', '--set', f'evalEvery={args.steps}', '--out', os.path.join(tmp, 'model.pt'), '--metrics', metrics_file]
            for k, v in point.items():
                cmd += ['--set', f'{k}={json.dumps(v)}']
            started = time.time()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            with open(metrics_file) as f:
                m = json.load(f)
        rows.append({**point, 'val_accuracy': m['val_accuracy'], 'loss': m['loss'], 'params': m['params'], 'seconds': round(time.time() - started, 1)})
        print(json.dumps(rows[-1]), flush=True)
    rows.sort(key=lambda r: -r['val_accuracy'])
    header = keys + ['val_accuracy', 'loss', 'params', 'seconds']
    lines = [
        f'# Sweep: {args.domain}, {args.steps} steps per run',
        '',
        f'Base config {args.config}; each row overrides the keys on the left. Sorted by validation accuracy (policy labels).',
        '',
        '| ' + ' | '.join(header) + ' |',
        '|' + '---|' * len(header),
    ] + ['| ' + ' | '.join(str(r[h]) for h in header) + ' |' for r in rows]
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
