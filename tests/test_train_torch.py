"""nn.train_torch: the exported GPT trained in PyTorch, alone and with DistributedDataParallel.

Oracles: stepgrad's own train_gpt (a batch of one name on one process is microgpt's loop, step for step),
stepgrad's document_loss on the first batch, and a one-process run on the same batches for the
two-process gloo run started by torchrun on 127.0.0.1.
"""

import json
import os
import random
import socket
import subprocess
import sys

import pytest

from nn import GPT, CharTokenizer, GPTConfig, document_loss, from_torch, load_names, to_torch, train_gpt

torch = pytest.importorskip("torch")
from nn import train_torch  # noqa: E402

SMALL = ["--n-embd", "8", "--n-head", "2", "--block-size", "8"]


@pytest.fixture(scope="module")
def names():
    return load_names()


def test_one_name_per_step_on_one_process_is_stepgrads_train_gpt(names):
    docs = names[:6]
    tokenizer = CharTokenizer.from_documents(names)
    ours = GPT(seed=3)
    net = to_torch(ours)
    history = train_gpt(ours, tokenizer, docs, steps=6, progress=False)
    records = train_torch.train(net, docs, tokenizer, steps=6, batch=1)
    assert [r.names for r in records] == [[d] for d in history.documents]
    assert [r.loss for r in records] == pytest.approx(history.losses, rel=1e-10, abs=0)
    assert [r.lr for r in records] == pytest.approx(history.learning_rates, rel=1e-12)
    theirs, initial = from_torch(net).state_dict(), GPT(seed=3).state_dict()
    moved = 0
    for name, value in ours.state_dict().items():
        assert theirs[name] == pytest.approx(value, rel=1e-8, abs=1e-10), name
        moved += value != initial[name]
    assert moved > 0.9 * len(theirs)  # training moved the weights: the comparison is not of the initial point


def test_a_batch_step_is_the_mean_of_the_documents_losses(names):
    tokenizer = CharTokenizer.from_documents(names)
    model = GPT(GPTConfig(n_embd=8, n_head=2, block_size=5), seed=1)  # block 5: longer names are cut
    batch = train_torch.global_batch(names, 0, 7)
    (record,) = train_torch.train(to_torch(model), names, tokenizer, steps=1, batch=7)
    expected = sum(document_loss(model, *model.inputs_and_targets(tokenizer.encode(d))).data for d in batch) / 7
    assert record.names == batch and record.loss == pytest.approx(expected, rel=1e-12)


def test_the_batch_must_split_evenly_over_the_processes():
    with pytest.raises(ValueError, match=r"the batch \(3\) must be a multiple of the number of processes \(2\)"):
        train_torch.check_batch(3, 2)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if os.path.exists("/sys/class/net/lo"):  # Linux: gloo talks over the loopback interface only
        env["GLOO_SOCKET_IFNAME"] = "lo"
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _log(folder, rank):
    return [json.loads(line) for line in (folder / f"rank{rank}.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_process_gloo_ddp_keeps_the_processes_equal_and_matches_one_process(tmp_path, names):
    steps, batch = 4, 6
    common = ["-m", "nn.train_torch", "--steps", str(steps), "--batch", str(batch), "--every", "1", *SMALL]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2"]
    torchrun += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port())]
    printed = _run([*torchrun, *common, "--out", "ddp.pt", "--record", "ddp"], tmp_path)
    single = _run([sys.executable, *common, "--out", "one.pt", "--record", "one"], tmp_path)
    assert "2 processes (backend gloo, cpu)" in printed and "1 process (backend none, cpu)" in single

    rank0, rank1, alone = _log(tmp_path / "ddp", 0), _log(tmp_path / "ddp", 1), _log(tmp_path / "one", 0)
    assert len(rank0) == len(rank1) == len(alone) == steps
    for r0, r1, one in zip(rank0, rank1, alone):
        assert r0["weights_sha256"] == r1["weights_sha256"]  # both processes hold bit-equal weights after each step
        assert r0["loss"] == r1["loss"]
        assert r0["names"] + r1["names"] == one["names"]  # each process took its half of the same global batch
        assert r0["loss"] == pytest.approx(one["loss"], rel=1e-13)
    assert len({r["weights_sha256"] for r in rank0}) == steps  # the weights changed at every step

    # the first loss, from stepgrad's engine on the same initial weights and names
    shuffled = names[:]
    random.Random(42).shuffle(shuffled)
    tokenizer = CharTokenizer.from_documents(shuffled)
    model = GPT(GPTConfig(27, 8, 2, 1, 8), seed=42)
    first = [document_loss(model, *model.inputs_and_targets(tokenizer.encode(d))).data for d in alone[0]["names"]]
    assert alone[0]["names"] == shuffled[:batch]
    assert rank0[0]["loss"] == pytest.approx(sum(first) / batch, rel=1e-12)

    # the checkpoints read back as stepgrad GPTs: the two-process weights are the one-process weights
    ddp, one = from_torch(tmp_path / "ddp.pt"), from_torch(tmp_path / "one.pt")
    assert ddp.config == GPTConfig(27, 8, 2, 1, 8)
    other = one.state_dict()
    for name, value in ddp.state_dict().items():
        assert value == pytest.approx(other[name], rel=1e-9, abs=1e-12), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "ddp.pt", "one", "one.pt"]


def test_init_starts_from_a_gpt_saved_by_stepgrad(tmp_path, capsys):
    saved = GPT(GPTConfig(n_embd=4, n_head=2, block_size=4), seed=9)
    saved.save(tmp_path / "gpt.json")
    out = tmp_path / "trained.pt"
    args = ["--init", str(tmp_path / "gpt.json"), "--steps", "2", "--batch", "2", "--out", str(out)]
    assert train_torch.main(args) == 0
    printed = capsys.readouterr().out
    assert f"1 process (backend none, cpu); GPT with {len(saved.parameters())} parameters" in printed
    trained = from_torch(out)
    assert trained.config == saved.config
    assert trained.state_dict() != saved.state_dict()  # two steps moved it


def test_init_refuses_a_model_that_is_not_a_gpt(tmp_path, capsys):
    from nn import MLP

    MLP(2, [1]).save(tmp_path / "mlp.json")
    with pytest.raises(SystemExit) as e:
        train_torch.main(["--init", str(tmp_path / "mlp.json"), "--steps", "1"])
    assert e.value.code == 2
    assert "mlp.json' is not a GPT: it holds a model of type 'MLP'" in capsys.readouterr().err
