# Model files, .npz interop and checkpoints (docs/model-format.md).
if(MOTE_BUILD_TOOLS)
  if(TARGET test_model_file)
    target_compile_definitions(test_model_file PRIVATE MOTE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  endif()
  mote_add_test(test_npz LIBS mote_io LABELS "unit;tools")
  # Runs the mote binary too (signals, SIGKILL at random moments).
  mote_add_test(test_checkpoint LIBS mote_cli LABELS "data;tools")
  target_compile_definitions(test_checkpoint PRIVATE MOTE_EXE="$<TARGET_FILE:mote>"
                                                     MOTE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(test_checkpoint mote)
endif()
