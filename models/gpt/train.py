"""Pretrains the GPT as a causal language model on serialized cases followed by their decision.

    /usr/bin/python3 models/gpt/train.py --domain loan [--config models/train.config.json]
        [--set steps=200 --set lr=1e-3] [--init CHECKPOINT [--member N]] [--train-ids FILE] [--out CHECKPOINT]

Under torchrun (WORLD_SIZE > 1) it trains data-parallel with DDP: gloo on CPU, nccl on GPU. Each
rank reads its own shard of every batch; rank 0 evaluates and saves. `--init` fine-tunes from an
existing checkpoint: a task checkpoint (e.g. on newly reviewed cases given by `--train-ids`) or
one pretrained on English by pretrain.py, whose architecture is kept (nLayer, nHead, dModel of the
config are ignored) and whose tokenizer must be the one that encoded the task data. `--member N`
starts from the N-th member of an ensemble folder's weights.pt (continue.py runs every member).
"""
import argparse, json, math, os, random, sys, time
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, set_threads  # noqa: E402
from lineage import init_lineage, pretraining_record, sha256  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--work', default='models/.work')
    p.add_argument('--domain', required=True)
    p.add_argument('--config', default='models/train.config.json')
    p.add_argument('--set', action='append', default=[], help='override a config key: key=value')
    p.add_argument('--init', help='checkpoint to fine-tune from')
    p.add_argument('--member', type=int, default=1,
                   help='with --init of an ensemble folder\'s weights.pt: the member to continue (1 = the first)')
    p.add_argument('--train-ids', help='encoded training cases (default WORK/DOMAIN/train.ids.json)')
    p.add_argument('--out', help='checkpoint path (default WORK/DOMAIN/checkpoints/model.pt)')
    p.add_argument('--metrics', help='write the final metrics as JSON here')
    return p.parse_args(argv)


def load_config(path, overrides):
    with open(path) as f:
        config = json.load(f)
    for item in overrides:
        key, value = item.split('=', 1)
        config[key] = json.loads(value)
    return config


def initial_model(checkpoint, tokens, config, tokenizer_file):
    """The model a run starts from: the checkpoint's weights, fitted to the task's vocabulary and
    maxLen. New token rows and positions start like a fresh model's (normal, std 0.02)."""
    model_config = dict(checkpoint['model_config'])
    state = dict(checkpoint['state_dict'])
    if checkpoint.get('kind') == 'pretrained':
        if sha256(tokenizer_file) != checkpoint['tokenizer_sha256']:
            raise SystemExit(f'{tokenizer_file} is not the tokenizer the checkpoint was pretrained with: '
                             'encode the task data with the corpus tokenizer (models/tokenizer/train.ts --byte-level)')
        for key, size, name in (('tok.weight', tokens['vocabSize'], 'vocab_size'), ('pos.weight', config['maxLen'], 'max_len')):
            old = state[key]
            if size > old.shape[0]:
                state[key] = torch.cat([old, torch.randn(size - old.shape[0], old.shape[1]) * 0.02])
            elif name == 'max_len':
                state[key] = old[:size]
            elif size < old.shape[0]:
                raise SystemExit(f'the task vocabulary ({size}) is smaller than the pretrained one ({old.shape[0]})')
            model_config[name] = size
    model = GPT(**model_config)
    model.load_state_dict(state)
    return model


def member_of(checkpoint, member, path):
    """The weights a run starts from: the checkpoint itself (member 1), or another member of the
    ensemble an exported folder's weights.pt holds (export.py --member writes them in `members`)."""
    others = checkpoint.get('members') or []
    if member < 1 or member > 1 + len(others):
        raise SystemExit(f'{path} holds {1 + len(others)} model(s): there is no member {member}')
    return checkpoint if member == 1 else {**others[member - 2], 'kind': checkpoint.get('kind', 'task')}


def param_groups(model, config):
    """AdamW groups: matrices with weight decay, vectors without, and with `layerDecay` d < 1
    (layer-wise learning-rate decay, as BERT fine-tuning uses it) the top block at lr, each block
    below at d times the one above it and the embeddings, tied to the output, at d ** nLayer, so a
    fine-tune moves the pretrained lower layers less. d = 1 (the default) is one lr for all."""
    d, n = float(config.get('layerDecay', 1.0)), len(model.blocks)
    groups = {}
    for name, p in model.named_parameters():
        if name.startswith('blocks.'):
            depth = int(name.split('.')[1])
        else:  # the embeddings sit below the first block, the final norm with the top one
            depth = -1 if name.startswith(('tok.', 'pos.')) else n - 1
        scale = d ** (n - 1 - depth)
        wd = config['weightDecay'] if p.dim() >= 2 else 0.0
        groups.setdefault((scale, wd), []).append(p)
    return [{'params': ps, 'weight_decay': wd, 'lr': config['lr'] * scale} for (scale, wd), ps in groups.items()]


def corrupt_text(row, vocab_size, p, rng):
    """Replaces each free-text token with a random one with probability p, so the model reads the
    text by meaning it can generalize and treats words it does not know as noise."""
    ids = list(row['ids'])
    if p <= 0 or 'text' not in row:
        return ids
    start, end = row['text']
    for k in range(max(0, start), min(end, len(ids))):
        if rng.random() < p:
            ids[k] = rng.randrange(3, vocab_size)
    return ids


def batch_of(rows, verbalizers, eos_id, pad_id, max_len, label_weight, with_label=True, noise=None):
    """Right-padded input ids, attention mask, next-token targets and per-target loss weights."""
    seqs = []
    for r in rows:
        ids = (corrupt_text(r, *noise) if noise else list(r['ids']))[-(max_len - 2):]
        seqs.append(ids + [verbalizers[r['label']], eos_id] if with_label else ids)
    t = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    targets = torch.full((len(seqs), t), -100, dtype=torch.long)
    weights = torch.ones((len(seqs), t))
    for i, s in enumerate(seqs):
        input_ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        targets[i, :len(s) - 1] = torch.tensor(s[1:])
        if with_label:
            weights[i, len(s) - 3] = label_weight  # the position that predicts the decision word
    return input_ids, mask, targets, weights


@torch.no_grad()
def label_logits(model, rows, verbalizers, pad_id, max_len, batch=256):
    """Logits of each label's verbalizer at the scoring position, [N, L]."""
    model.eval()
    out = []
    for i in range(0, len(rows), batch):
        ids, mask, _, _ = batch_of(rows[i:i + batch], verbalizers, 0, pad_id, max_len, 1.0, with_label=False)
        logits, _ = model.last(ids, mask)
        out.append(logits[:, verbalizers])
    model.train()
    return torch.cat(out)


def accuracy(logits, rows, key='policy'):
    pred = logits.argmax(dim=1)
    return sum(int(p) == r[key] for p, r in zip(pred.tolist(), rows)) / max(1, len(rows))


def main(argv=None):
    args = parse_args(argv)
    config = load_config(args.config, args.set)
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    if world > 1:
        dist.init_process_group(backend='nccl' if torch.cuda.is_available() else 'gloo')
    set_threads(int(config.get('threads', 2)))
    torch.manual_seed(config['seed'])
    random.seed(config['seed'])

    work = os.path.join(args.work, args.domain)
    with open(os.path.join(work, 'tokens.json')) as f:
        tokens = json.load(f)
    with open(args.train_ids or os.path.join(work, 'train.ids.json')) as f:
        train = json.load(f)
    with open(os.path.join(work, 'val.ids.json')) as f:
        val = json.load(f)
    verbalizers = tokens['verbalizerIds']

    pretraining, init = None, None
    if args.init:
        checkpoint = torch.load(args.init)
        init = init_lineage(args.init, checkpoint, member=args.member)
        model = initial_model(member_of(checkpoint, args.member, args.init), tokens, config, os.path.join(work, 'tokenizer.json'))
        pretraining = pretraining_record(checkpoint, args.init)
        if checkpoint.get('kind') == 'pretrained':
            keys = ('corpus_sha256', 'corpus_tokens', 'tokens_seen', 'tokenizer_sha256', 'pretrain_config')
            pretraining = {key: checkpoint[key] for key in keys}
            pretraining['final'] = checkpoint['history'][-1] if checkpoint['history'] else None
    else:
        model = GPT(tokens['vocabSize'], config['maxLen'], config['nLayer'], config['nHead'], config['dModel'], config['dropout'])
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    opt = torch.optim.AdamW(param_groups(model, config), lr=config['lr'], betas=(0.9, 0.98))
    steps, warmup = config['steps'], config['warmup']
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))

    rng = random.Random(config['seed'])  # same on every rank: ranks shuffle identically and take their shard
    noise_rng = random.Random(config['seed'] * 1000 + rank + 1)
    order, cursor = list(range(len(train))), len(train)
    per_rank = config['batchSize'] // world
    started, history = time.time(), []
    for step in range(1, steps + 1):
        if cursor + config['batchSize'] > len(order):
            rng.shuffle(order)
            cursor = 0
        chosen = order[cursor:cursor + config['batchSize']]
        cursor += config['batchSize']
        rows = [train[i] for i in chosen[rank * per_rank:(rank + 1) * per_rank]]
        noise = (tokens['vocabSize'], config.get('textNoise', 0.0), noise_rng)
        ids, mask, targets, weights = batch_of(rows, verbalizers, tokens['eosId'], tokens['padId'], config['maxLen'], config['labelLossWeight'], noise=noise)
        logits = net(ids, mask)
        loss_each = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction='none')
        w = weights.reshape(-1) * (targets.reshape(-1) != -100)
        loss = (loss_each * w).sum() / w.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config['gradClip'])
        opt.step()
        sched.step()
        if rank == 0 and (step % config['evalEvery'] == 0 or step == steps):
            val_acc = accuracy(label_logits(model, val, verbalizers, tokens['padId'], config['maxLen']), val)
            entry = {'step': step, 'loss': round(loss.item(), 4), 'val_accuracy': round(val_acc, 4), 'seconds': round(time.time() - started, 1)}
            history.append(entry)
            print(json.dumps(entry), flush=True)

    if rank == 0:
        out = args.out or os.path.join(work, 'checkpoints', 'model.pt')
        os.makedirs(os.path.dirname(out), exist_ok=True)
        torch.save({'model_config': model.config, 'state_dict': model.state_dict(), 'train_config': config, 'history': history,
                    'world_size': world, 'pretraining': pretraining, 'init': init}, out)
        final = dict(history[-1], world_size=world, params=sum(p.numel() for p in model.parameters()), checkpoint=out)
        if args.metrics:
            with open(args.metrics, 'w') as f:
                json.dump(final, f)
        print(json.dumps({'final': final}), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
