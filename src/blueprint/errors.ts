// Errors a user causes with blueprints or credentials. They carry what a person needs to fix the input and never
// a credential value.
import { ClassifiedError } from '../errors';

export interface BlueprintIssue {
  file: string;
  /** 1-based, when the problem has a place in the file. */
  line?: number;
  column?: number;
  message: string;
}

/** Every problem found while loading blueprints, reported together so one run shows them all. */
export class BlueprintError extends ClassifiedError {
  override readonly name = 'BlueprintError';
  readonly issues: BlueprintIssue[];

  constructor(issues: BlueprintIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

/** `file:line:col: message`, or `file: message` for a problem with the file as a whole. */
export function formatIssue(issue: BlueprintIssue): string {
  const at = issue.line === undefined ? '' : `:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
  return `${issue.file}${at}: ${issue.message}`;
}

/** A credential that cannot be resolved. The message names the credential and its missing fields, never a value. */
export class CredentialError extends ClassifiedError {
  override readonly name = 'CredentialError';
  readonly credential: string;
  readonly missing: string[];

  constructor(credential: string, message: string, missing: string[] = []) {
    super(message);
    this.credential = credential;
    this.missing = missing;
  }
}
