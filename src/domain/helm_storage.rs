//! Helm release storage: the Secret driver format (name, labels, base64 + gzip + JSON).
