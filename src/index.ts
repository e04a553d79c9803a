// The package entry: what other tools may build on.
export { merkleRoot, rootFromLeafHashes, leafHash, nodeHash, inclusionProof, consistencyProof, verifyInclusion, verifyConsistency, MerkleAccumulator, MerkleTree } from './log/merkle.js'
export { verifyBundle, BUNDLE_FORMAT, type AuditBundle, type BundleVerdict } from './log/bundle.js'
export { verifyRecord, decodeRecord, recordId, type Envelope, type Verified } from './records/envelope.js'
export { canonicalize } from './records/canonical.js'
