// Package finetune teaches a trained text-to-image diffusion model new
// concepts with few parameters, the base model's weights frozen:
//
//   - "lora": low-rank updates W + (alpha/r)·B·A of chosen layers (Hu et
//     al. 2021): the attention projections by default, optionally every
//     conv and the text encoder's attention; B starts at zero, so step 0
//     is the base model;
//   - "adapter": a bottleneck MLP x + up(silu(down(x))) after each
//     attention block (Houlsby et al. 2019), up zero-initialised;
//   - "prefix": learned keys and values prepended in every cross-attention
//     (Li & Liang 2021);
//   - "prompt": only the new words' embeddings (prompt tuning, Lester et
//     al. 2021; textual inversion, Gal et al. 2022);
//   - "full": every weight, the reference.
//
// Words of the training captions that the base vocabulary lacks become new
// tokens whose embeddings every method trains. A fine-tune enters the
// network through models.Tuner hooks; without one the base model computes
// exactly what it did. Files hold only the fine-tune's tensors (LoRA's
// under peft's names, LAYER.lora_A.weight and LAYER.lora_B.weight) with
// genlab.* metadata naming the method, its sizes, the new words and the
// base checkpoint's hash; loading one on another base is refused.
package finetune
