"""A tiny gpt-oss GGUF with random weights, made the way people's gpt-oss GGUF files are made.

No gpt-oss weights can be downloaded here, so the tests build one: transformers' gpt-oss
architecture at toy size (two layers, four experts, width 64) with the real o200k_harmony
vocabulary, whose tokenizer is built from the verified ``o200k_base.tiktoken`` plus harmony's
special tokens, converted by ``convert_hf_to_gguf.py`` from the sdist of the installed
llama-cpp-python (so the converter matches the llama.cpp that loads the file). Only the weights
are fake: the file has gpt-oss's architecture, metadata and tokenizer. About 65 MB; the
vocabulary alone is two thirds of it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from openai_harmony import HarmonyEncoding

from hearth.engines.harmony_vocab import VOCAB_FILE, provide_vocab
from llama_converter import converter

VOCAB_SIZE = 201088  # o200k_harmony: 199998 byte-pair tokens, then the special tokens
FIRST_SPECIAL = 199998
# o200k's pre-tokenizer, as openai-harmony defines it (src/tiktoken_ext/public_encodings.rs).
O200K_PATTERN = "|".join([
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"\p{N}{1,3}",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"\s*[\r\n]+",
    r"\s+(?!\S)",
    r"\s+",
])


def build(folder: Path, models_dir: Path, encoding: HarmonyEncoding) -> Path:
    """Write ``folder/gpt-oss-toy.gguf`` (and the converter beside it) and return its path."""
    script = converter(folder / "converter")
    with tempfile.TemporaryDirectory(dir=folder) as work:
        checkpoint = Path(work) / "checkpoint"
        _save_tokenizer(checkpoint, provide_vocab(models_dir) / VOCAB_FILE, encoding)
        _save_model(checkpoint, encoding)
        converted = Path(work) / "gpt-oss-toy.gguf"
        subprocess.run([sys.executable, str(script), str(checkpoint), "--outfile",
                        str(converted), "--outtype", "f16"], check=True, capture_output=True,
                       timeout=600)
        target = folder / converted.name
        os.replace(converted, target)  # whole or not at all: the file is cached across runs
    return target


def _save_tokenizer(checkpoint: Path, vocab_file: Path, encoding: HarmonyEncoding) -> None:
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class VerifiedVocab(TikTokenConverter):
        """Reads the vocabulary hearth provided (TikTokenConverter would need tiktoken)."""

        @staticmethod
        def load_tiktoken_bpe(path: str) -> dict[bytes, int]:
            lines = Path(path).read_bytes().splitlines()
            return {base64.b64decode(token): int(rank)
                    for token, rank in (line.split() for line in lines)}

    specials = [encoding.decode([i]) for i in range(FIRST_SPECIAL, VOCAB_SIZE)]
    tokenizer = VerifiedVocab(str(vocab_file), pattern=O200K_PATTERN,
                              extra_special_tokens=specials).converted()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|startoftext|>",
                            eos_token="<|return|>",
                            pad_token="<|endoftext|>").save_pretrained(checkpoint)


def _save_model(checkpoint: Path, encoding: HarmonyEncoding) -> None:
    import torch
    from transformers import GptOssConfig, GptOssForCausalLM

    [bos, pad, eos] = encoding.encode("<|startoftext|><|endoftext|><|return|>",
                                      allowed_special="all")
    config = GptOssConfig(
        vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=64, head_dim=32,
        num_attention_heads=2, num_key_value_heads=1, num_hidden_layers=2, num_local_experts=4,
        num_experts_per_tok=2, sliding_window=128, max_position_embeddings=4096,
        bos_token_id=bos, pad_token_id=pad, eos_token_id=eos)
    torch.manual_seed(0)
    GptOssForCausalLM(config).to(torch.bfloat16).save_pretrained(checkpoint)
