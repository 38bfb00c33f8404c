// @peculiar/x509 resolves its ASN.1 and signature handlers through tsyringe, which needs the Reflect metadata API
// loaded first; every module of this folder imports the library from here so that order always holds.
import 'reflect-metadata';

export * from '@peculiar/x509';
