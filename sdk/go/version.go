package credvault

// Version is the SDK's version (see CHANGELOG.md); it is sent in the
// User-Agent header.
const Version = "0.1.0"
