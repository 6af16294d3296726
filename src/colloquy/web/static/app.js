// colloquy dashboard: keyboard shortcuts and the copy button. Every page works without it.
(function () {
  "use strict";

  function choosing(target) {
    return !!target && target.tagName === "INPUT" && target.type === "radio";
  }

  function typing(target) {
    if (!target || !target.tagName || choosing(target)) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function openKeymap() {
    var dialog = document.getElementById("keymap");
    if (dialog && !dialog.open && dialog.showModal) dialog.showModal();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var opener = document.querySelector("[data-open-keymap]");
    if (opener) opener.addEventListener("click", openKeymap);

    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.querySelector(button.getAttribute("data-copy"));
        var status = document.querySelector("[data-copy-status]");
        if (!field) return;
        field.focus();
        field.select();
        var done = function () {
          button.textContent = "Copied";
          if (status) status.textContent = "Copied to the clipboard.";
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () {
            if (document.execCommand("copy")) done();
          });
        } else if (document.execCommand("copy")) {
          done();
        } else if (status) {
          status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected key.";
        }
      });
    });

    var form = document.getElementById("decide-form");
    var reason = document.getElementById("reason");
    if (form && reason) {
      reason.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          form.requestSubmit(document.getElementById("reject-button"));
        } else if (event.key === "Escape") {
          reason.blur();
        }
      });
    }
  });

  var pendingG = false;
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var dialog = document.getElementById("keymap");
    if (dialog && dialog.open) return;
    var key = event.key;

    if (key === "?") {
      event.preventDefault();
      openKeymap();
      return;
    }
    if (pendingG) {
      pendingG = false;
      var go = { r: "/review", d: "/dashboard", u: "/units", k: "/keys" }[key];
      if (go) {
        event.preventDefault();
        window.location.assign(go);
      }
      return;
    }
    if (key === "g") {
      pendingG = true;
      window.setTimeout(function () { pendingG = false; }, 1200);
      return;
    }

    var form = document.getElementById("decide-form");
    if (!form) return;
    if (event.target && event.target.closest && event.target.closest("button, a") &&
        (key === "Enter" || key === " ")) return;
    // On a neighbour's radio button the arrows move the choice, as they always do there.
    if (choosing(event.target) && key.indexOf("Arrow") === 0) return;
    var choices = form.querySelectorAll("input[name=duplicate_of]");
    if (/^[1-9]$/.test(key) && choices.length) {
      var choice = choices[Number(key) - 1];
      if (choice) {
        event.preventDefault();
        choice.checked = true;
        choice.focus();
      }
      return;
    }
    if (key === "d" && choices.length) {
      event.preventDefault();
      form.requestSubmit(document.getElementById("duplicate-button"));
      return;
    }
    if (key === "a" || key === "ArrowRight") {
      event.preventDefault();
      form.requestSubmit(document.getElementById("approve-button"));
    } else if (key === "r" || key === "ArrowLeft") {
      event.preventDefault();
      var reason = document.getElementById("reason");
      reason.focus();
      reason.scrollIntoView({ block: "center" });
    } else if (key === "s" || key === "ArrowDown") {
      event.preventDefault();
      var skip = document.getElementById("skip-link");
      if (skip) window.location.assign(skip.href);
    }
  });
})();
