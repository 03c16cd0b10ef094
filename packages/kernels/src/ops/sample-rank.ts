/**
 * The sampler's walk by rank (see `sample.ts`), compiled into its ranked pipeline only: top-k
 * and top-p, and the draw over the candidates sorted by probability (ties by index), without a
 * full sort. Candidates are walked in blocks of CAP, each block's boundary found by an exact
 * radix select (8 bits per pass over the probability's bits, then over the index for ties) and
 * only the block sorted (bitonic, in workgroup memory); top-k narrows the set first, so a
 * sampled step usually sorts `topK` entries once.
 *
 * Published scalars (thread 0 writes, everyone reads after a barrier), in `sh`:
 * 0 count, 1-2 selected (p bits, index), 3-4 kept bound, 5-6 walk cursor, 7 done, 8 above,
 * 9 equal, 10 prefix, 11 known bits, 12 keep, 13 chosen, 14 walked, 16 min-p bits, 20 tie rank;
 * 17-19: see walk().
 */

/**
 * Workgroup memory and functions of the walk, for blocks of `cap` candidates; `MASS`: the narrow
 * variant's per-invocation mass histograms.
 */
export function sampleRankWgsl(cap: number, MASS: boolean): string {
  return `const CAP = ${cap}u;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> kp: array<u32, CAP>;
var<workgroup> ki: array<u32, CAP>;
${MASS ? 'var<workgroup> hm: array<f32, WG * 256u>;' : ''}

// A candidate (non-zero, at least min-p), inside the kept bound, strictly after the cursor.
fn in_set(i: u32, pb: u32) -> bool {
  if (pb == 0u || pb < sh[16]) { return false; }
  let inK = pb > sh[3] || (pb == sh[3] && i <= sh[4]);
  let afterC = pb < sh[5] || (pb == sh[5] && i > sh[6]);
  return inK && afterC;
}

fn prob_bits(base: u32, i: u32) -> u32 { return bitcast<u32>(LOGITS[base + i]); }

fn clear_hist(lid: u32) {
  for (var b = lid; b < 256u; b += WG) { atomicStore(&hist[b], 0u); }
  workgroupBarrier();
}

// The n-th (1-based) element of the set in rank order → sh[1], sh[2]. With 'mass' (the
// narrow CPU-adapter variant only), instead the element where the running mass in rank order
// first passes ft (strictly, or reaches it) → sh[1], sh[2], its rank sh[22], mass through it fpub[3].
fn select_nth(lid: u32, base: u32, n: u32, mass: bool, ft: f32, strict: bool) {
  if (lid == 0u) { sh[10] = 0u; sh[11] = 0u; sh[8] = 0u; fpub[3] = 0.0; }
  for (var ps = 0u; ps < 4u; ps++) {
    let shift = 24u - ps * 8u;
    clear_hist(lid);
    let prefix = sh[10];
    let known = sh[11];
    ${MASS ? 'if (mass) { for (var b = 0u; b < 256u; b++) { hm[lid * 256u + b] = 0.0; } }' : ''}
    for (var i = lid; i < P.vocab; i += WG) {
      let pb = prob_bits(base, i);
      if ((pb & known) == prefix && in_set(i, pb)) {
        let d = (pb >> shift) & 255u;
        atomicAdd(&hist[d], 1u);
        ${MASS ? 'if (mass) { hm[lid * 256u + d] += bitcast<f32>(pb); }' : ''}
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var a = sh[8];
      var fa = fpub[3];
      var chosen = 0u;
      var found = false;
      var m = 0.0;
      for (var bb = 0u; bb < P.bins; bb++) {
        let b = P.bins - 1u - bb;
        let c = atomicLoad(&hist[b]);
        if (c == 0u) { continue; }
        chosen = b;
        sh[9] = c;
        var cross = a + c >= n;
        ${
          MASS
            ? `if (mass) {
          m = 0.0;
          for (var l = 0u; l < WG; l++) { m += hm[l * 256u + b]; }
          cross = select(fa + m >= ft, fa + m > ft, strict);
        }`
            : ''
        }
        if (cross) { found = true; break; }
        a += c;
        fa += m;
      }
      // Never short of the target (a count is at most the set's size, a mass at most its
      // total up to rounding): otherwise the last bin, i.e. the set's last element.
      if (!found) { a -= sh[9]; fa -= m; }
      sh[8] = a;
      fpub[3] = fa;
      sh[10] = prefix | (chosen << shift);
      sh[11] = known | (255u << shift);
    }
    workgroupBarrier();
  }
  let pstar = sh[10];
  if (lid == 0u) {
    var j = n - min(n, sh[8]);
    if (mass) {
      // Ties at p*: each adds p* to the running mass.
      let p = bitcast<f32>(pstar);
      let q = max((ft - fpub[3]) / p, 0.0);
      j = select(u32(ceil(q)), u32(floor(q)) + 1u, strict);
    }
    j = min(max(j, 1u), sh[9]);
    sh[20] = j;
    sh[22] = sh[8] + j;
    fpub[3] += f32(j) * bitcast<f32>(pstar);
  }
  let j = workgroupUniformLoad(&sh[20]);
  if (j == 1u) {
    if (lid == 0u) { atomicStore(&cnt, 0xffffffffu); }
    workgroupBarrier();
    for (var i = lid; i < P.vocab; i += WG) {
      let pb = prob_bits(base, i);
      if (pb == pstar && in_set(i, pb)) { atomicMin(&cnt, i); }
    }
    workgroupBarrier();
    if (lid == 0u) { sh[1] = pstar; sh[2] = atomicLoad(&cnt); }
  } else {
    // Ties at p*: the j-th smallest index among them, by the same radix walk over index bits.
    if (lid == 0u) { sh[10] = 0u; sh[11] = 0u; sh[8] = 0u; }
    for (var ps = 0u; ps < 3u; ps++) {
      let shift = 16u - ps * 8u;
      clear_hist(lid);
      let prefix = sh[10];
      let known = sh[11];
      for (var i = lid; i < P.vocab; i += WG) {
        let pb = prob_bits(base, i);
        if (pb == pstar && (i & known) == prefix && in_set(i, pb)) {
          atomicAdd(&hist[(i >> shift) & 255u], 1u);
        }
      }
      workgroupBarrier();
      if (lid == 0u) {
        var a = sh[8];
        var chosen = 0u;
        for (var b = 0u; b < P.bins; b++) {
          let c = atomicLoad(&hist[b]);
          if (c == 0u) { continue; }
          chosen = b;
          if (a + c >= j) { break; }
          a += c;
        }
        sh[8] = a;
        sh[10] = prefix | (chosen << shift);
        sh[11] = known | (255u << shift);
      }
      workgroupBarrier();
    }
    if (lid == 0u) { sh[1] = pstar; sh[2] = sh[10]; }
  }
  workgroupBarrier();
}

// a ranks before b: higher probability, then lower index.
fn before(pa: u32, ia: u32, pb: u32, ib: u32) -> bool { return pa > pb || (pa == pb && ia < ib); }

// Gathers the next n elements of the set (those ranking at or before (lowP, lowI)) and sorts them.
fn load_block(lid: u32, base: u32, n: u32, all: bool) {
  if (!all) { select_nth(lid, base, n, false, 0.0, false); }
  if (lid == 0u) {
    atomicStore(&cnt, 0u);
    if (all) { sh[1] = 0u; sh[2] = 0xffffffffu; }
  }
  workgroupBarrier();
  let lowP = sh[1];
  let lowI = sh[2];
  for (var i = lid; i < P.vocab; i += WG) {
    let pb = prob_bits(base, i);
    if (in_set(i, pb) && !before(lowP, lowI, pb, i)) {
      let k = atomicAdd(&cnt, 1u);
      if (k < CAP) { kp[k] = pb; ki[k] = i; }
    }
  }
  var m = 1u;
  while (m < n) { m <<= 1u; }
  for (var i = n + lid; i < m; i += WG) { kp[i] = 0u; ki[i] = 0xffffffffu; }
  workgroupBarrier();
  for (var k = 2u; k <= m; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      for (var t = lid; t < m; t += WG) {
        let l = t ^ j;
        if (l > t) {
          let first = before(kp[t], ki[t], kp[l], ki[l]);
          if (((t & k) == 0u) != first) {
            let p = kp[t]; kp[t] = kp[l]; kp[l] = p;
            let x = ki[t]; ki[t] = ki[l]; ki[l] = x;
          }
        }
      }
      workgroupBarrier();
    }
  }
}

// Walks the kept set (k elements) in rank order, block by block, as one state machine so the
// select and the sort are compiled once: mode 0 counts top-p's keep and sums the kept mass,
// mode 1 draws r = u × mass and walks again until the running mass passes r; mode 2: done.
// sh: 17 mode, 12 limit, 14 walked, 19 first block resident, 21 blocks walked in this mode.
fn walk(lid: u32, base: u32, k: u32, topP: f32, seed: u32, counter: u32) {
  loop {
    let mode = workgroupUniformLoad(&sh[17]);
    if (mode == 2u) { break; }
    let walked = workgroupUniformLoad(&sh[14]);
    let resident = workgroupUniformLoad(&sh[19]);
    ${
      MASS
        ? `// Past three blocks (16 + 64 + 256 candidates) the distribution is flat: mass-radix
    // selects finish it (mode 3 + m).
    if (workgroupUniformLoad(&sh[21]) >= 3u) {
      if (lid == 0u) { sh[17] = 3u + mode; sh[5] = 0xffffffffu; sh[6] = 0u; }
      workgroupBarrier();
      break;
    }`
        : ''
    }
    // Blocks grow (16, 64, 256, … up to the cap): a draw or a top-p cut usually ends among the
    // first few candidates, so most steps select and sort only 16.
    let size = min(CAP, 16u << (2u * min(workgroupUniformLoad(&sh[21]), 8u)));
    // The set holds 'limit' elements: top-p's walk narrowed the bound to its cut.
    let limit = workgroupUniformLoad(&sh[12]);
    if (!(walked == 0u && resident == 1u)) {
      load_block(lid, base, min(size, limit - walked), limit - walked <= size);
    }
    if (lid == 0u) {
      sh[19] = select(0u, 1u, walked == 0u);
      sh[21] += 1u;
      let n = min(size, limit - walked);
      if (mode == 1u && walked == 0u) {
        fpub[2] = rng_uniform(seed, counter) * fpub[0];
        fpub[1] = 0.0;
      }
      var acc = fpub[1];
      var hit = false;
      for (var i = 0u; i < n; i++) {
        acc += bitcast<f32>(kp[i]);
        if (mode == 0u) {
          if (acc >= topP) { sh[12] = walked + i + 1u; sh[3] = kp[i]; sh[4] = ki[i]; hit = true; break; }
        } else if (fpub[2] < acc) { sh[13] = ki[i]; hit = true; break; }
      }
      fpub[1] = acc;
      let w = walked + n;
      sh[5] = kp[n - 1u]; sh[6] = ki[n - 1u]; sh[14] = w;
      if (!hit && w >= limit) {
        hit = true;
        if (mode == 1u) { sh[13] = ki[n - 1u]; } else { sh[3] = kp[n - 1u]; sh[4] = ki[n - 1u]; }
      }
      if (hit) {
        if (mode == 0u) { fpub[0] = acc; }
        sh[21] = 0u;
        sh[17] = mode + 1u;
        sh[14] = 0u;
        sh[5] = 0xffffffffu; sh[6] = 0u;
      }
    }
    workgroupBarrier();
  }
}
`;
}

/** The end of the sampler's main with top-k or top-p: the cut, then the draw by rank. */
export function sampleRankDraw(MASS: boolean): string {
  return `  let k = select(count, min(st.topK, count), st.topK > 0u);
  if (k < count) {
    select_nth(lid, base, k, false, 0.0, false);
    if (lid == 0u) { sh[3] = sh[1]; sh[4] = sh[2]; }
    workgroupBarrier();
  }
  // Top-p (mode 0) then the draw (mode 1). Without top-p the draw needs the kept mass first,
  // summed in parallel (top-p sums it in rank order on its walk, as the CPU does).
  if (lid == 0u) {
    sh[17] = select(1u, 0u, st.topP < 1.0);
    sh[12] = k; sh[14] = 0u; sh[19] = 0u; sh[21] = 0u;
  }
  if (st.topP >= 1.0) {
    var m = 0.0;
    for (var i = lid; i < P.vocab; i += WG) {
      let pb = prob_bits(base, i);
      if (in_set(i, pb)) { m += bitcast<f32>(pb); }
    }
    red[lid] = m;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h) { red[lid] += red[lid + h]; }
      workgroupBarrier();
    }
    if (lid == 0u) { fpub[0] = red[0]; }
  }
  workgroupBarrier();
  walk(lid, base, k, st.topP, st.seed, st.counter);
  ${
    MASS
      ? `// A flat distribution: top-p's cut and the draw by mass-radix selects, whose running mass
  // is summed per bin rather than in rank order.
  let gave = workgroupUniformLoad(&sh[17]);
  if (gave == 3u) {
    select_nth(lid, base, 0u, true, st.topP, false);
    if (lid == 0u) { sh[3] = sh[1]; sh[4] = sh[2]; fpub[0] = fpub[3]; }
    workgroupBarrier();
  }
  if (gave >= 3u) {
    if (lid == 0u) { fpub[2] = rng_uniform(st.seed, st.counter) * fpub[0]; }
    let r = workgroupUniformLoad(&fpub[2]);
    select_nth(lid, base, 0u, true, r, true);
    if (lid == 0u) { sh[13] = sh[2]; }
  }`
      : ''
  }
  if (lid == 0u) { finish(s, sh[13]); }
`;
}
