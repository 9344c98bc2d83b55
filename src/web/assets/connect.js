// The connect page's progressive enhancement (no inline script: the CSP forbids it). Without it
// the page still works: the claim form has a button, and a reload shows setup's progress.
(function () {
  'use strict';
  // Kept in step with SETUP_STEP_WORDS and SETUP_STATUS_WORDS in src/web/messages.ts.
  var STEP_WORDS = {
    pending: 'waiting',
    running: 'running',
    succeeded: 'done',
    skipped: 'skipped',
    partial: 'partly done',
    failed: 'failed',
  };
  var STATUS_WORDS = {
    pending: 'Waiting to start',
    running: 'Running',
    needs_selection: 'Waiting for you to choose projects',
    succeeded: 'Succeeded',
    partial: 'Partly succeeded',
    failed: 'Failed',
    not_applicable: 'Nothing to set up',
  };
  var POLL_MS = 1500;

  function autoSubmit() {
    var form = document.querySelector('form[data-auto-submit]');
    if (form && !form.dataset.submitted) {
      form.dataset.submitted = 'true';
      form.requestSubmit();
    }
  }

  function update(box, view) {
    var status = box.querySelector('[data-setup-status]');
    if (status) status.textContent = STATUS_WORDS[view.status] || view.status;
    var progress = box.querySelector('progress');
    if (progress) {
      progress.value = view.progress;
      progress.textContent = view.progress + '%';
    }
    (view.steps || []).forEach(function (step) {
      var items = box.querySelectorAll('li[data-step]');
      for (var i = 0; i < items.length; i++) {
        if (items[i].getAttribute('data-step') !== step.name) continue;
        var word = items[i].querySelector('[data-step-status]');
        if (word) word.textContent = STEP_WORDS[step.status] || step.status;
      }
    });
  }

  function poll(box) {
    var url = box.getAttribute('data-setup-url');
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('setup answered ' + res.status);
        return res.json();
      })
      .then(function (view) {
        update(box, view);
        if (view.status === 'pending' || view.status === 'running') {
          setTimeout(function () {
            poll(box);
          }, POLL_MS);
        } else {
          // Finished: the page draws the outcome (actions, project choice) from the server.
          window.location.assign('/connect');
        }
      })
      .catch(function () {
        setTimeout(function () {
          poll(box);
        }, POLL_MS * 2);
      });
  }

  function start() {
    autoSubmit();
    var boxes = document.querySelectorAll('[data-setup-url]');
    for (var i = 0; i < boxes.length; i++) {
      (function (box) {
        setTimeout(function () {
          poll(box);
        }, POLL_MS);
      })(boxes[i]);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
