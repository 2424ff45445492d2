// Engine-semantics suites run on the cpu oracle by default (f64 lives only there); the parity and backend suites
// name their backends explicitly. EITP_BACKEND=native npm test runs the default-backend suites elsewhere.
process.env.EITP_BACKEND ??= 'cpu';
