// The app's own script (the CSP allows only scripts served here).

// Print buttons on the printouts.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});

// An htmx request that failed without a fragment to show (403, 404, 500, link down): say so
// instead of leaving the official wondering whether the click did anything.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr ? event.detail.xhr.status : "";
  window.alert("Thao tác chưa được thực hiện (lỗi " + status + "). Vui lòng tải lại trang và thử lại.");
});
document.addEventListener("htmx:sendError", function () {
  window.alert("Không kết nối được máy chủ của Bộ phận một cửa. Kiểm tra mạng nội bộ rồi thử lại.");
});

// Enter in a picker's search box (data-picks names its <select>) picks the first match, as a
// receptionist expects, instead of submitting the half-filled form around it. The list is
// fetched afresh first, so a quick Enter after typing never picks from the previous query's list,
// and the pick survives the list's own delayed refresh for the same words.
document.addEventListener("keydown", function (event) {
  var input = event.target.closest && event.target.closest("input[data-picks]");
  if (!input || event.key !== "Enter" || event.isComposing) {
    return;
  }
  event.preventDefault();
  var select = document.querySelector(input.dataset.picks);
  var url = input.getAttribute("hx-get") + "?" + new URLSearchParams({ q: input.value });
  htmx.ajax("GET", url, { target: select, swap: "innerHTML" }).then(function () {
    var first = select.querySelector("option[value]:not([value=''])");
    if (first) {
      select.value = select.dataset.picked = first.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.focus();
    }
  });
});
document.addEventListener("input", function (event) {
  var input = event.target.closest && event.target.closest("input[data-picks]");
  if (input) {
    delete document.querySelector(input.dataset.picks).dataset.picked;
  }
});
document.addEventListener("htmx:afterSwap", function (event) {
  var select = event.detail.target;
  if (select.dataset && select.dataset.picked && select.querySelector(
    "option[value='" + CSS.escape(select.dataset.picked) + "']")) {
    select.value = select.dataset.picked;
  }
});
