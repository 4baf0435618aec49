// The files of a small LoRA adapter in the real layout (PEFT's adapter_config.json and a
// safetensors file whose header describes its tensors), for tests that upload an adapter model.
import { randomBytes } from 'node:crypto';

/** A safetensors file: 8-byte little-endian header length, the JSON header, the tensor bytes. */
export function safetensors(): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      'base_model.model.layers.0.self_attn.v_proj.lora_A.weight': { dtype: 'BF16', shape: [8, 64], data_offsets: [0, 1024] },
      'base_model.model.layers.0.self_attn.v_proj.lora_B.weight': { dtype: 'BF16', shape: [64, 8], data_offsets: [1024, 2048] },
    }),
  );
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, randomBytes(2048)]);
}

/** adapter_config.json of a rank-8 LoRA on q_proj and v_proj. */
export const ADAPTER_CONFIG = Buffer.from(JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] }));
