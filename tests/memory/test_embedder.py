"""The embedder: all-MiniLM-L6-v2 on ONNX Runtime, from a file exported once and then reused."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from hearth.config import MAX_EMBEDDER_THREADS, Settings
from hearth.memory import onnx_export
from hearth.memory.embedder import DIMENSIONS, Embedder, model_dir

# Well past the model's 256-token window (and its 512 positions).
LONG = " ".join(f"On day {i} Caroline painted another sunset by the lake." for i in range(60))

SENTENCES = [
    "Hi.",
    "Melanie is swamped with the kids & work.",
    "Caroline went to an LGBTQ support group yesterday (7 May 2023) and it was so powerful.",
    "What did Jonas buy for his sister's birthday last month?",
    "Der Zug nach München hatte zwei Stunden Verspätung.",
    "Prices rose 3.5% in Q2; see https://example.com/report?id=42 🎉",
    LONG,
]

@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding one freshly exported model file, shared by this module."""
    folder = tmp_path_factory.mktemp("embedder-cache")
    Embedder(folder).embed(["warm up"])
    return folder


@pytest.fixture(scope="module")
def embedder(cache: Path) -> Embedder:
    return Embedder(cache)


def reference(texts: list[str]) -> np.ndarray:
    """The same safetensors run by transformers on torch, pooled as sentence-transformers does."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir()))
    model = AutoModel.from_pretrained(str(model_dir())).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


def test_vectors_agree_with_the_torch_model_they_were_exported_from(embedder: Embedder):
    vectors = embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    torch_vectors = reference(SENTENCES)
    # int8 weights move a vector a little (cosine 0.98 at least over the LoCoMo dev set's
    # memories), and never so far that another sentence's torch vector is nearer.
    cosines = vectors @ torch_vectors.T
    assert np.diag(cosines).min() >= 0.975, dict(zip(SENTENCES, np.diag(cosines).round(4)))
    assert list(cosines.argmax(axis=1)) == list(range(len(SENTENCES)))


def test_text_beyond_the_model_window_is_cut_off(embedder: Embedder):
    longer = embedder.embed_one(LONG + " Then she moved to Lisbon and sold every painting.")
    assert float(embedder.embed_one(LONG) @ longer) > 0.9999


def test_a_second_embedder_reuses_the_exported_file(cache: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    (model_file,) = cache.glob("*.onnx")
    modified = model_file.stat().st_mtime_ns

    def export(source: Path, target: Path) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export", export)
    assert Embedder(cache).embed(["hello"]).shape == (1, DIMENSIONS)
    assert model_file.stat().st_mtime_ns == modified


def test_the_file_name_changes_with_the_recipe(cache: Path, monkeypatch: pytest.MonkeyPatch):
    (model_file,) = cache.glob("*.onnx")
    assert onnx_export.onnx_file(model_dir(), cache) == model_file
    monkeypatch.setitem(onnx_export.RECIPE, "opset", onnx_export.RECIPE["opset"] + 1)
    assert onnx_export.onnx_file(model_dir(), cache) != model_file


def test_an_export_deletes_the_files_of_other_recipes_and_keeps_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def build(source: Path, target: Path) -> None:  # the export itself is tested above
        target.write_bytes(b"onnx")

    monkeypatch.setattr(onnx_export, "_export", build)
    monkeypatch.setattr(onnx_export, "_quantize", shutil.copyfile)
    stale = tmp_path / "all-minilm-l6-v2-000000000000-00000000.onnx"
    unrelated = [tmp_path / "other-model.onnx", tmp_path / "all-minilm-l6-v2-notes.txt"]
    for path in [stale, *unrelated]:
        path.write_bytes(b"old")
    target = onnx_export.onnx_file(model_dir(), tmp_path)
    onnx_export.export(model_dir(), target)
    assert target.read_bytes() == b"onnx"
    assert not stale.exists()
    assert all(path.read_bytes() == b"old" for path in unrelated)


def test_a_model_file_cut_short_is_exported_again(cache: Path, embedder: Embedder,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]):
    (good,) = cache.glob("*.onnx")
    broken = tmp_path / good.name
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    exports = []

    def export(source: Path, target: Path) -> None:  # the real one, without the wait
        exports.append(target)
        shutil.copyfile(good, target)

    monkeypatch.setattr(onnx_export, "export", export)
    vector = Embedder(tmp_path).embed_one("hello")
    assert exports == [broken]
    assert "cannot be read" in capsys.readouterr().err
    np.testing.assert_allclose(vector, embedder.embed_one("hello"), atol=1e-6)


def test_nothing_to_embed_gives_no_rows_without_loading_the_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def export(source: Path, target: Path) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(onnx_export, "export", export)
    vectors = Embedder(tmp_path).embed([])
    assert vectors.shape == (0, DIMENSIONS)
    assert vectors.dtype == np.float32


def test_a_text_gets_one_vector_whatever_it_is_embedded_with(embedder: Embedder):
    # Activations are quantized by the range of a run's values: a text that shared its run
    # would get a vector that depends on the others.
    texts = [f"{sentence} ({i})" for i in range(6) for sentence in SENTENCES]
    alone = np.stack([embedder.embed_one(text) for text in texts])
    np.testing.assert_array_equal(embedder.embed(texts), alone)
    np.testing.assert_array_equal(embedder.embed(texts[::-1]), alone[::-1])


@pytest.mark.parametrize("threads", [1, 2])
def test_vectors_one_at_a_time_are_a_batchs_rows_in_order(cache: Path, embedder: Embedder,
                                                          threads: int):
    texts = [f"{sentence} ({i})" for i in range(3) for sentence in SENTENCES]
    each = Embedder(cache, threads=threads).embed_each(texts)
    first = next(each)
    np.testing.assert_array_equal(np.stack([first, *each]), embedder.embed(texts))


@pytest.mark.parametrize("threads", [2, 3])
def test_the_threads_setting_embeds_that_many_rows_at_once(
        cache: Path, embedder: Embedder, threads: int, monkeypatch: pytest.MonkeyPatch):
    import onnxruntime

    from hearth.memory.embedder import _Model

    sessions = []

    class Recorded(onnxruntime.InferenceSession):
        def __init__(self, path, options, **kwargs):
            sessions.append(options)
            super().__init__(path, options, **kwargs)

    # Each text waits until every thread has one: run one after another, they never would.
    together = threading.Barrier(threads, timeout=10)
    embed_text = _Model._embed_text

    def waiting(self, token_ids):
        together.wait()
        return embed_text(self, token_ids)

    monkeypatch.setattr(onnxruntime, "InferenceSession", Recorded)
    monkeypatch.setattr(_Model, "_embed_text", waiting)
    monkeypatch.setenv("HEARTH_EMBEDDER_THREADS", str(threads))
    texts = SENTENCES[:threads]
    vectors = Embedder(cache).embed(texts)
    assert [o.intra_op_num_threads for o in sessions] == [1]
    monkeypatch.setattr(_Model, "_embed_text", embed_text)
    np.testing.assert_array_equal(vectors, embedder.embed(texts))


@pytest.mark.parametrize(("engine", "engine_threads", "cores", "expected"), [
    ("llamacpp", 8, 8, 1),   # the engine has every core: one thread beside it
    ("llamacpp", 6, 8, 2),   # it leaves two free
    ("upstream", 8, 8, MAX_EMBEDDER_THREADS),  # nothing local: the cores, up to the cap
    ("upstream", 2, 2, 2),
])
def test_the_embedder_takes_the_cores_a_local_engine_leaves_free(
        engine: str, engine_threads: int, cores: int, expected: int,
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    settings = Settings(engine=engine, threads=engine_threads)
    assert settings.resolved_embedder_threads == expected
    assert Settings(engine=engine, threads=engine_threads,
                    embedder_threads=3).resolved_embedder_threads == 3
