#!/usr/bin/env python3
"""Writes the HuggingFace parity fixtures of tests/unit/test_hf_parity.cpp.

Needs Python with torch and transformers (the GPU machine has them; the project itself never runs
Python). Builds two tiny models with random weights, saves them with save_pretrained, and records
their outputs on fixed inputs computed by transformers itself:

  OUT/llama-tiny/   LlamaForCausalLM: GQA (4 heads, 2 key/value heads), linear RoPE scaling x2
  OUT/siglip-tiny/  SiglipVisionModel with its attention-pooling head
  OUT/parity.safetensors  inputs and outputs (names below), f32 / i64

Usage: python3 scripts/hf_parity_fixtures.py OUT
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, SiglipVisionConfig, SiglipVisionModel


def llama_config():
    base = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                attn_implementation="eager")
    # transformers 5 keeps RoPE settings in rope_parameters; 4.x in rope_theta + rope_scaling.
    try:
        c = LlamaConfig(**base, rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 5000.0})
        if getattr(c, "rope_parameters", None) is None:
            raise TypeError("no rope_parameters")
    except TypeError:
        c = LlamaConfig(**base, rope_theta=5000.0, rope_scaling={"type": "linear", "factor": 2.0})
    return c


def main(out):
    torch.manual_seed(0)
    tensors = {}

    llama = LlamaForCausalLM(llama_config()).eval()
    with torch.no_grad():  # random init is tiny; widen it so the logits are far from uniform
        for p in llama.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.2)
    llama.save_pretrained(os.path.join(out, "llama-tiny"), safe_serialization=True)
    gen_cfg = os.path.join(out, "llama-tiny", "generation_config.json")  # not read by the project
    if os.path.exists(gen_cfg):
        os.remove(gen_cfg)
    ids = torch.randint(3, 256, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        tensors["llama.input_ids"] = ids
        tensors["llama.logits"] = llama(input_ids=ids).logits.float()
        prompt = ids[:1, :6]
        gen = llama.generate(prompt, max_new_tokens=8, do_sample=False, eos_token_id=None, pad_token_id=0)
        tensors["llama.greedy_prompt"] = prompt
        tensors["llama.greedy_ids"] = gen[:, prompt.shape[1]:]

    sc = SiglipVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            image_size=32, patch_size=8, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    sc._attn_implementation = "eager"
    siglip = SiglipVisionModel(sc).eval()
    with torch.no_grad():
        for p in siglip.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.2)
    siglip.save_pretrained(os.path.join(out, "siglip-tiny"), safe_serialization=True)
    px = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        o = siglip(pixel_values=px, output_hidden_states=True)
    tensors["siglip.pixel_values"] = px
    tensors["siglip.last_hidden_state"] = o.last_hidden_state
    tensors["siglip.pooler_output"] = o.pooler_output
    # hidden_states[0] is the embeddings; [k] the output of layer k.
    for k, h in enumerate(o.hidden_states):
        tensors[f"siglip.hidden_states.{k}"] = h

    meta = {"transformers": transformers.__version__, "torch": torch.__version__}
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, os.path.join(out, "parity.safetensors"), metadata=meta)
    print(json.dumps({"fixtures": out, **meta, "tensors": sorted(tensors)}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: hf_parity_fixtures.py OUT")
    main(sys.argv[1])
