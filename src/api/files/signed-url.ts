// Signed file URLs live with the artifact store (src/artifacts/signed-url.ts), so the DeployedModel
// controller can sign the download URLs a model-server pod fetches an adapter's files from
// (src/artifacts/model-files-server.ts) with the very code `:getDownloadEndpoint` uses.
export * from '../../artifacts/signed-url.js';
