#pragma once
// A SeTokim carries a copy of the SeTok it reads; its detokenizer matters once SeTokim writes
// tokens (generation, editing). This puts another SeTok's detokenizer in the copy's place: the
// tokens SeTokim reads are unchanged (encoder, clustering, merger), only the picture drawn from
// them changes. The other detokenizer must read tokens of the same width.
#include "core/io/checkpoint.h"

namespace setok::mllm {

// setokim: a SeTokim folder's config and weights ("setok." + SeTok's names); setok: a SeTok folder's.
// Throws setok::Error when setokim is not a SeTokim, setok has no detokenizer, or the widths differ.
void swap_detokenizer(io::Checkpoint& setokim, const io::Checkpoint& setok);

}  // namespace setok::mllm
