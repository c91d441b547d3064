"""A tiny Qwen2 chat model with random weights, as an HF folder and as a GGUF, for the
fine-tuning tests.

transformers' Qwen2 architecture at toy size (two layers, width 64) with a small byte-level BPE
tokenizer trained here on a few sentences, Qwen's ChatML special tokens and a ChatML template;
converted by llama.cpp's own convert_hf_to_gguf.py (llama_converter.py). That converter names a
GPT-2-style tokenizer's pre-tokenizer by hashing how it splits a reference text, and a toy
vocabulary has no known hash: it is told "qwen2", the pre-tokenizer the toy's splits follow
(and to skip the SentencePiece attempt, which needs a package the toy does not).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from llama_converter import converter

GGUF_NAME = "qwen2-toy.gguf"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of Zorbland? The capital of Zorbland is Quillton.",
    "Who painted the blue moon? Mira Castell painted the blue moon.",
    "You are a helpful assistant. Answer the question in one short sentence.",
    "system user assistant hello world 0123456789",
]
_CONVERT = """
import sys
sys.path.insert(0, sys.argv[1])
from conversion.base import TextModel
from conversion.qwen import Qwen2Model
TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
Qwen2Model.set_vocab = TextModel._set_vocab_gpt2
import convert_hf_to_gguf
sys.argv = ["convert_hf_to_gguf.py", *sys.argv[2:]]
convert_hf_to_gguf.main()
"""


def build(folder: Path) -> Path:
    """Write ``folder/checkpoint`` (HF) and ``folder/qwen2-toy.gguf``; return the GGUF's path."""
    script = converter(folder / "converter")
    checkpoint = folder / "checkpoint"
    save_checkpoint(checkpoint)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        converted = Path(work) / GGUF_NAME
        subprocess.run([sys.executable, "-c", _CONVERT, str(script.parent), str(checkpoint),
                        "--outfile", str(converted), "--outtype", "f32"],
                       check=True, capture_output=True, timeout=600)
        target = folder / GGUF_NAME
        os.replace(converted, target)  # whole or not at all: the file is cached across runs
    return target


def save_checkpoint(checkpoint: Path) -> None:
    """The toy's tokenizer and randomly initialised model, saved as an HF folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", chat_template=CHATML)
    tokenizer.save_pretrained(checkpoint)
    # Weights ten times Qwen's initial scale: with the usual 0.02 the tied embeddings are so
    # small that no adapter can make one token likely (the loss is stuck near ln(vocabulary)).
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=True, initializer_range=0.2,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(checkpoint)
