"""Fine-tuning open weights on the user's own data: validate a chat JSONL file, train a LoRA
adapter with peft on transformers' Trainer, and export it as a GGUF adapter for llama.cpp."""
