"""Pretrains the GPT as a causal language model on the English corpus: next-token loss over
packed windows of maxLen tokens drawn from the encoded corpus (documents separated by <eos>).

    /usr/bin/python3 models/gpt/pretrain.py [--corpus WORK/corpus] [--config models/pretrain.config.json]
        [--set steps=2000 --set dModel=192 ...] [--device cpu|cuda] [--out CHECKPOINT] [--metrics FILE]
        [--init PRETRAINED]

The corpus folder holds english.ids.bin (uint16 token ids) and english.ids.json (its token count,
vocabulary size and the SHA-256 of the tokenizer), written by `models/tokenizer/train.ts
--byte-level`. The checkpoint records the tokenizer's SHA-256 so that fine-tuning (train.py
--init) refuses task data encoded with another tokenizer. The learning rate warms up linearly,
then follows a cosine down to minLrRatio x lr. The last valShare of the tokens is held out.

With --init, pretraining goes on from an earlier checkpoint of this script (its shape, not the
config's, and the same tokenizer, or it refuses): the schedule warms up again to lr and decays
over the new steps ("re-warming", as continued pretraining is usually done), tokens_seen adds up,
and the checkpoint keeps the earlier run's history and config under `earlier`.
"""
import argparse, json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, set_threads  # noqa: E402
from train import load_config, param_groups  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--corpus', default='models/.work/corpus', help='folder with english.ids.bin and english.ids.json')
    p.add_argument('--config', default='models/pretrain.config.json')
    p.add_argument('--set', action='append', default=[], help='override a config key: key=value')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--out', help='checkpoint path (default CORPUS/checkpoints/pretrained.pt)')
    p.add_argument('--metrics', help='write the final metrics as JSON here')
    p.add_argument('--init', help='a checkpoint of this script to go on pretraining from')
    return p.parse_args(argv)


def windows(tokens, starts, length):
    """[B, length + 1] windows of the token stream starting at `starts`."""
    offsets = torch.arange(length + 1)
    return tokens[starts.view(-1, 1) + offsets.view(1, -1)].long()


def lm_loss(model, batch):
    """Mean next-token cross-entropy of a [B, T + 1] window batch."""
    ids, targets = batch[:, :-1], batch[:, 1:]
    logits = model(ids, torch.ones_like(ids))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def validation_loss(model, tokens, length, batch_size, batches, device):
    """Loss on evenly spaced windows of the held-out tokens (the same windows every time)."""
    model.eval()
    last = len(tokens) - length - 1
    count = max(1, min(batches * batch_size, last // length))
    starts = torch.linspace(0, last, count).long()
    losses = [lm_loss(model, windows(tokens, starts[i:i + batch_size], length).to(device)).item() for i in range(0, count, batch_size)]
    model.train()
    return sum(losses) / len(losses)


def load_earlier(path, meta, config):
    """The checkpoint to go on from; its shape replaces the config's, and its tokenizer must be the corpus's."""
    earlier = torch.load(path, map_location='cpu')
    if earlier.get('kind') != 'pretrained':
        raise SystemExit(f'{path} is not a pretrained checkpoint (kind {earlier.get("kind")!r})')
    if earlier['tokenizer_sha256'] != meta['tokenizerSha256']:
        raise SystemExit(f'the corpus was encoded with another tokenizer than {path} was pretrained with: '
                         f'{meta["tokenizerSha256"][:12]} vs {earlier["tokenizer_sha256"][:12]}')
    shape = earlier['model_config']
    if shape['vocab_size'] != meta['vocabSize']:
        raise SystemExit(f'{path} has {shape["vocab_size"]} tokens of vocabulary, the corpus {meta["vocabSize"]}')
    config.update(nLayer=shape['n_layer'], nHead=shape['n_head'], dModel=shape['d_model'], maxLen=shape['max_len'])
    return earlier


def main(argv=None):
    args = parse_args(argv)
    config = load_config(args.config, args.set)
    set_threads(int(config.get('threads', 1)))
    torch.manual_seed(config['seed'])
    with open(os.path.join(args.corpus, 'english.ids.json')) as f:
        meta = json.load(f)
    tokens = torch.from_numpy(np.fromfile(os.path.join(args.corpus, 'english.ids.bin'), dtype='<u2').astype(np.int32))
    earlier = load_earlier(args.init, meta, config) if args.init else None
    length = config['maxLen']
    held_out = max(length + 2, int(len(tokens) * config['valShare']))
    if len(tokens) < held_out + length + 2:
        raise SystemExit(f'corpus of {len(tokens)} tokens is too small for windows of {length}')
    train_tokens, val_tokens = tokens[:-held_out], tokens[-held_out:]

    device = torch.device(args.device)
    model = GPT(meta['vocabSize'], length, config['nLayer'], config['nHead'], config['dModel'], config['dropout'])
    if earlier:
        model.load_state_dict(earlier['state_dict'])
    model.to(device)
    opt = torch.optim.AdamW(param_groups(model, config), lr=config['lr'], betas=(0.9, 0.95))
    steps, warmup, floor = config['steps'], config['warmup'], config.get('minLrRatio', 0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))))

    generator = torch.Generator().manual_seed(config['seed'])
    started, cpu_started, history, losses = time.time(), time.process_time(), [], []
    for step in range(1, steps + 1):
        starts = torch.randint(0, len(train_tokens) - length - 1, (config['batchSize'],), generator=generator)
        loss = lm_loss(model, windows(train_tokens, starts, length).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config['gradClip'])
        opt.step()
        sched.step()
        losses.append(round(loss.item(), 4))
        if step % config['evalEvery'] == 0 or step == steps:
            val = validation_loss(model, val_tokens, length, config['batchSize'], config['evalBatches'], device)
            elapsed = time.time() - started
            # CPU time is what a step costs on a shared machine, where wall time mostly measures the neighbours.
            cpu = time.process_time() - cpu_started
            entry = {'step': step, 'loss': losses[-1], 'val_loss': round(val, 4), 'seconds': round(elapsed, 1),
                     'ms_per_step': round(1000 * elapsed / step, 1), 'cpu_ms_per_step': round(1000 * cpu / step, 1)}
            history.append(entry)
            print(json.dumps(entry), flush=True)

    out = args.out or os.path.join(args.corpus, 'checkpoints', 'pretrained.pt')
    os.makedirs(os.path.dirname(out) or '.', exist_ok=True)
    model.cpu()
    tokens_seen = steps * config['batchSize'] * length + (earlier['tokens_seen'] if earlier else 0)
    saved = {'kind': 'pretrained', 'model_config': model.config, 'state_dict': model.state_dict(), 'pretrain_config': config,
             'history': history, 'tokenizer_sha256': meta['tokenizerSha256'], 'corpus_sha256': meta['corpusSha256'],
             'corpus_tokens': meta['tokens'], 'tokens_seen': tokens_seen}
    if earlier:
        saved['earlier'] = {'pretrain_config': earlier['pretrain_config'], 'history': earlier['history'],
                            'tokens_seen': earlier['tokens_seen'], 'corpus_sha256': earlier['corpus_sha256'],
                            'earlier': earlier.get('earlier')}
    torch.save(saved, out)
    final = dict(history[-1], losses=losses, params=sum(p.numel() for p in model.parameters()),
                 tokens_seen=tokens_seen, corpus_tokens=meta['tokens'], device=str(device), checkpoint=out)
    if args.metrics:
        with open(args.metrics, 'w') as f:
            json.dump(final, f)
    print(json.dumps({'final': {k: v for k, v in final.items() if k != 'losses'}}), flush=True)


if __name__ == '__main__':
    main()
