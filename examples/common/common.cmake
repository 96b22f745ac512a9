# The examples' shared HTTP/1.1 code (examples/common/). Included from the examples and from the
# tests that exercise it; either may come first, and the Lambda tests also build when the examples
# are off (the TSan preset).
if(NOT TARGET svcres_example_http)
  add_library(svcres_example_http INTERFACE)
  target_include_directories(svcres_example_http INTERFACE ${CMAKE_CURRENT_LIST_DIR}/..)
  target_link_libraries(svcres_example_http INTERFACE svcres::svcres)
endif()
