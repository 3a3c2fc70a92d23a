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
