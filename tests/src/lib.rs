//! Helpers shared by the cross-crate tests: a throwaway server, a tablet, the link emulator.
