// Full resource names as the wire spells them, for errors and audit entries.
export const accountName = (accountId: string): string => `accounts/${accountId}`;
export const userName = (accountId: string, userId: string): string => `accounts/${accountId}/users/${userId}`;
export const quotaName = (accountId: string, name: string): string => `accounts/${accountId}/quotas/${name}`;
export const modelName = (accountId: string, modelId: string): string => `accounts/${accountId}/models/${modelId}`;
export const datasetName = (accountId: string, datasetId: string): string => `accounts/${accountId}/datasets/${datasetId}`;
export const reservationName = (accountId: string, id: string): string => `accounts/${accountId}/reservations/${id}`;
