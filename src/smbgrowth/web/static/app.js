// smbgrowth dashboard: CSRF header for htmx, charts drawn from inert JSON blocks.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  function drawCharts(root) {
    if (typeof window.Plotly === "undefined") {
      return;
    }
    var blocks = (root || document).querySelectorAll('script[type="application/json"][data-chart]');
    blocks.forEach(function (block) {
      var target = document.getElementById(block.getAttribute("data-chart"));
      if (!target) {
        return;
      }
      var figure;
      try {
        figure = JSON.parse(block.textContent);
      } catch (e) {
        target.textContent = "This chart could not be read.";
        return;
      }
      if (!figure || !figure.data) {
        target.textContent = "No data for this chart.";
        return;
      }
      var layout = Object.assign({ margin: { t: 40, r: 20, b: 40, l: 60 } }, figure.layout || {});
      window.Plotly.react(target, figure.data, layout, { responsive: true, displaylogo: false });
      target.setAttribute("data-drawn", "1");
    });
  }

  // Range inputs show their value next to them.
  function showValues(root) {
    (root || document).querySelectorAll("input[type=range][data-show]").forEach(function (input) {
      var out = document.getElementById(input.getAttribute("data-show"));
      var update = function () {
        if (out) {
          out.textContent = input.value + (input.getAttribute("data-unit") || "");
        }
      };
      input.addEventListener("input", update);
      update();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    showValues(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target);
    showValues(event.target);
  });
  window.addEventListener("load", function () {
    drawCharts(document);
  });
})();
