// The x509 toolkit: pure functions over PEM. Internal helpers (WebCrypto bridge, name constraint encoding)
// stay in their modules.
export * from './domains';
export * from './errors';
export * from './keys';
export * from './csr';
export * from './certificate';
export * from './match';
export * from './chain';
export * from './ca';
