// Thumbs up / down with a comment: the scia.io/feedback annotations (provideDeploymentFeedback).
import { useState } from "react";
import { useMutation } from "urql";
import { FEEDBACK } from "./queries";
import type { Deployment, FieldError } from "./types";
import { Alert } from "./errors";

export function FeedbackWidget({ d }: { d: Deployment }) {
  const [vote, setVote] = useState<string | null>(d.feedback.value);
  const [comment, setComment] = useState(d.feedback.comment ?? "");
  const [errors, setErrors] = useState<FieldError[] | string | null>(null);
  const [saved, setSaved] = useState(false);
  const [state, send] = useMutation(FEEDBACK);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (!vote) {
      setErrors("Choose thumbs up or thumbs down first.");
      return;
    }
    const r = await send({ ns: d.namespace, name: d.name, value: vote, comment: comment || null });
    const errs: FieldError[] = r.data?.provideDeploymentFeedback?.errors ?? [];
    if (r.error) setErrors(r.error.message);
    else if (errs.length) setErrors(errs);
    else {
      setErrors(null);
      setSaved(true);
    }
  }

  return (
    <form className="feedback" onSubmit={submit} aria-labelledby="feedback-title">
      <h3 id="feedback-title">Was this decision right?</h3>
      <div className="row" role="group" aria-label="Your vote">
        <button type="button" className="vote" aria-pressed={vote === "+1"} onClick={() => setVote("+1")}>
          <span aria-hidden="true">▲</span> Good decision
        </button>
        <button type="button" className="vote" aria-pressed={vote === "-1"} onClick={() => setVote("-1")}>
          <span aria-hidden="true">▼</span> Bad decision
        </button>
      </div>
      <label htmlFor="feedback-comment">Comment (optional)</label>
      <textarea id="feedback-comment" maxLength={1000} value={comment} onChange={(e) => setComment(e.target.value)} rows={2} />
      <button type="submit" disabled={state.fetching}>
        Send feedback
      </button>
      <Alert errors={errors} />
      {saved && (
        <p role="status" className="ok">
          Feedback saved ({vote}). The function stores it with this decision in the memory.
        </p>
      )}
    </form>
  );
}
