// The compiler's version: its own module, so that commands that do not compile (worker, status,
// submit's cluster side) can print it without loading the compiler.
export const FLOWC_VERSION = "0.1.0";
