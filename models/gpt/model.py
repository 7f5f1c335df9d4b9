"""A small decoder-only transformer (GPT): learned positions, pre-LayerNorm blocks, causal
self-attention written out with matmuls (exports cleanly to ONNX opset 14), tied input/output
embeddings."""
import ctypes
import math
import os
import torch
import torch.nn as nn
import torch.nn.functional as F


def set_threads(n):
    """Run on n threads: torch's own (torch.set_num_threads) and those of an OpenBLAS that torch
    loaded (Debian's python3-torch does), which starts one thread per core and ignores torch's
    setting. Two trainings at threads=1 on two cores then each run one thread, not two that
    wait for each other: a 512 x 128 matmul loop beside two trainings ran 13 to 17 times faster.
    OPENBLAS_NUM_THREADS or OMP_NUM_THREADS, when set to a number, caps n."""
    for name in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'):
        value = os.environ.get(name, '')
        if value.isdigit() and int(value) > 0:
            n = min(n, int(value))
    torch.set_num_threads(n)
    try:
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if 'libopenblas' in line.rsplit('/', 1)[-1]}
    except OSError:
        return
    for path in paths:
        try:
            ctypes.CDLL(path).openblas_set_num_threads(n)
        except (OSError, AttributeError):
            pass


def load_gpt(checkpoint):
    """The GPT a checkpoint holds (its `model_config` and `state_dict`: train.py's, a shipped
    weights.pt's, or one member of an ensemble's)."""
    model = GPT(**checkpoint['model_config'])
    model.load_state_dict(checkpoint['state_dict'])
    return model


class Block(nn.Module):
    def __init__(self, d_model, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        b, t, d = x.shape
        h = self.n_head
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h)) + bias
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.mlp(self.ln2(x)))


class GPT(nn.Module):
    def __init__(self, vocab_size, max_len=128, n_layer=4, n_head=4, d_model=128, dropout=0.0):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, max_len=max_len, n_layer=n_layer, n_head=n_head, d_model=d_model, dropout=dropout)
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList([Block(d_model, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d_model)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def hidden_states(self, input_ids, attention_mask, position_ids=None):
        """Final (layer-normed) hidden states [B, T, D]. Causal attention that also ignores padding."""
        b, t = input_ids.shape
        positions = torch.arange(t, device=input_ids.device).unsqueeze(0) if position_ids is None else position_ids
        x = self.tok(input_ids) + self.pos(positions)
        causal = torch.tril(torch.ones(t, t, device=input_ids.device)).view(1, 1, t, t)
        keys = attention_mask.to(x.dtype).view(b, 1, 1, t)
        bias = (1.0 - causal * keys) * -1e4
        for block in self.blocks:
            x = block(x, bias)
        return self.ln_f(x)

    def forward(self, input_ids, attention_mask):
        """Next-token logits at every position [B, T, V]."""
        return self.hidden_states(input_ids, attention_mask) @ self.tok.weight.t()

    def last(self, input_ids, attention_mask):
        """Logits [B, V] and hidden state [B, D] at the last real token (right padding)."""
        h = self.hidden_states(input_ids, attention_mask)
        index = (attention_mask.sum(dim=1) - 1).long().clamp(min=0)
        last = h[torch.arange(h.shape[0]), index]
        return last @ self.tok.weight.t(), last


class ExportWrapper(nn.Module):
    """The ONNX graph: inputs input_ids, attention_mask -> logits [B, V] and hidden [B, D] at the
    scoring position (the last real token)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        h = self.model.hidden_states(input_ids, attention_mask)
        index = (attention_mask.sum(dim=1) - 1).clamp(min=0)
        last = torch.gather(h, 1, index.view(-1, 1, 1).expand(-1, 1, h.shape[2])).squeeze(1)
        return last @ self.model.tok.weight.t(), last


class Ensemble(nn.Module):
    """Several GPTs of one shape and tokenizer read the same prompt; the answer is the mean of their
    temperature-calibrated label probabilities (a deep ensemble, Lakshminarayanan et al. 2017): where
    the members read a text differently, the mean is less sure, and the threshold sends it to review.
    `last` returns the first member's logits with the label entries replaced by the log of that mean,
    and the first member's hidden state (what heads trained on reviews read)."""

    def __init__(self, members, temperatures, verbalizer_ids):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer('temperatures', torch.tensor(temperatures, dtype=torch.float32))
        self.register_buffer('verbalizers', torch.tensor(verbalizer_ids, dtype=torch.long))
        # [labels, vocabulary], one 1 per row at the label's token: puts label values into a full row
        # with a matmul (an index assignment exports with the tracing batch size fixed in the graph).
        vocab = members[0].config['vocab_size']
        self.register_buffer('onehot', F.one_hot(self.verbalizers, vocab).float())
        self.config = members[0].config

    def combine(self, outputs):
        probs = torch.stack([F.softmax(logits[:, self.verbalizers] / self.temperatures[i], dim=1)
                             for i, (logits, _) in enumerate(outputs)]).mean(dim=0)
        logits, hidden = outputs[0]
        keep = 1.0 - self.onehot.sum(dim=0)
        return logits * keep + torch.log(probs.clamp(min=1e-9)) @ self.onehot, hidden

    def last(self, input_ids, attention_mask):
        return self.combine([m.last(input_ids, attention_mask) for m in self.members])


class EnsembleExportWrapper(nn.Module):
    """The ONNX graph of an Ensemble: the same inputs and outputs as ExportWrapper."""

    def __init__(self, ensemble):
        super().__init__()
        self.ensemble = ensemble
        self.wrappers = nn.ModuleList([ExportWrapper(m) for m in ensemble.members])

    def forward(self, input_ids, attention_mask):
        return self.ensemble.combine([w(input_ids, attention_mask) for w in self.wrappers])


class OptimumStyleWrapper(nn.Module):
    """The graph a HuggingFace Optimum `text-generation` export has: input_ids, attention_mask,
    position_ids -> logits [B, T, V]. Used to test that such folders work in Operon."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        return self.model.hidden_states(input_ids, attention_mask, position_ids) @ self.model.tok.weight.t()
